// One OpenSearch node for tests and development, started by scripts/services.sh from the jars Maven fetched
// (java -cp 'libs/*' scripts/opensearch/Node.java BASE_PATH HTTP_PORT). It stays up until it gets SIGTERM.
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class Node {
    // OpenSearchRunner picks http ports only up to 9299 unless told otherwise: -1 takes ours as it is.
    static final class Runner extends OpenSearchRunner {
        Runner() { maxHttpPort = -1; }
    }

    public static void main(String[] args) throws Exception {
        Runner runner = new Runner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { runner.close(); } catch (Exception e) { e.printStackTrace(); }
        }));
        try {
            runner.build(OpenSearchRunner.newConfigs().basePath(args[0]).numOfNode(1)
                .baseHttpPort(Integer.parseInt(args[1]) - 1).clusterName("techscaniq").printOnFailure());
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("OpenSearch node ready on 127.0.0.1:" + args[1]);
        Thread.currentThread().join();
    }
}
